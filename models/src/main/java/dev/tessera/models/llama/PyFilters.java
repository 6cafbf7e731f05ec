package dev.tessera.models.llama;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import dev.tessera.models.text.PyStrings;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Filters with the Python semantics Hugging Face chat templates are written against (they render with Jinja2 in
 * Python), where Jinjava's own differ: {@code tojson} as transformers defines it ({@code json.dumps} with its default
 * separators, {@code ensure_ascii=False}, {@code indent}, {@code sort_keys}); {@code trim} and the string methods
 * {@code strip / lstrip / rstrip} (rewritten to {@code pystrip / pylstrip / pyrstrip}) with Python's whitespace and
 * optional characters; {@code split} (rewritten to {@code pysplit}) with a literal separator, Python's whitespace
 * split and {@code maxsplit}; {@code 'ab' * n} / {@code n * 'ab'} with a string literal (rewritten to
 * {@code pyrepeat}): Python's string repetition, which Jinjava's {@code *} (numbers only) lacks; {@code list} of a
 * dict: its keys.
 */
final class PyFilters {
    private PyFilters() {}

    /** The filters to register on a Jinjava context. */
    static List<AdvancedFilter> all() {
        return List.of(filter("tojson", toJson()), filter("trim", strip(true, true)), filter("pystrip", strip(true, true)),
                filter("pylstrip", strip(true, false)), filter("pyrstrip", strip(false, true)), filter("pysplit", split()),
                filter("pyrepeat", repeat()), list());
    }

    /** {@code list}: a dict gives its keys, as Python's {@code list(d)} (Jinjava's wrapped the map in a list). */
    private static AdvancedFilter list() {
        com.hubspot.jinjava.lib.filter.ListFilter jinjavas = new com.hubspot.jinjava.lib.filter.ListFilter();
        return new AdvancedFilter() {
            @Override
            public String getName() {
                return "list";
            }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
                if (var instanceof Map<?, ?> m) {
                    return new ArrayList<>(m.keySet());
                }
                return jinjavas.filter(var, interpreter);
            }
        };
    }

    /** Python's {@code str.isspace} for one character. */
    static boolean isPySpace(char c) {
        return PyStrings.isSpace(c);
    }

    /** {@code s.strip(chars)} / {@code lstrip} / {@code rstrip}; {@code chars} null: whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        return PyStrings.strip(s, chars, left, right);
    }

    /** {@code s.split(sep, maxsplit)}: sep null splits at runs of whitespace and drops empty ends. */
    static List<String> split(String s, String sep, int maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isPySpace(s.charAt(i))) {
                    i++;
                }
                if (i == n) {
                    return out;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    return out;
                }
                int j = i;
                while (j < n && !isPySpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("split: empty separator");
        }
        int from = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    /** {@code json.dumps(v, ensure_ascii, indent, sort_keys)} with Python's default separators. */
    static String toJson(Object v, Integer indent, boolean ensureAscii, boolean sortKeys) {
        StringBuilder sb = new StringBuilder();
        json(sb, v, indent, 0, ensureAscii, sortKeys);
        return sb.toString();
    }

    private static void json(StringBuilder sb, Object v, Integer indent, int level, boolean ascii, boolean sort) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean bo) {
            sb.append(bo ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            sb.append(pyFloat(((Number) v).doubleValue()));
        } else if (v instanceof Number) {
            sb.append(v);
        } else if (v instanceof CharSequence) {
            quote(sb, v.toString(), ascii);
        } else if (v instanceof Map<?, ?> m) {
            Map<?, ?> entries = sort ? new TreeMap<>(m) : m;
            if (entries.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries.entrySet()) {
                separate(sb, first, indent, level + 1);
                first = false;
                Object k = e.getKey();
                quote(sb, k instanceof Double || k instanceof Float ? pyFloat(((Number) k).doubleValue())
                        : String.valueOf(k), ascii);
                sb.append(": ");
                json(sb, e.getValue(), indent, level + 1, ascii, sort);
            }
            close(sb, indent, level, '}');
        } else if (v instanceof Collection<?> || v.getClass().isArray()) {
            List<?> items = v instanceof Collection<?> c ? new ArrayList<>(c) : arrayAsList(v);
            if (items.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (Object x : items) {
                separate(sb, first, indent, level + 1);
                first = false;
                json(sb, x, indent, level + 1, ascii, sort);
            }
            close(sb, indent, level, ']');
        } else {
            quote(sb, String.valueOf(v), ascii);
        }
    }

    private static List<Object> arrayAsList(Object array) {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < Array.getLength(array); i++) {
            out.add(Array.get(array, i));
        }
        return out;
    }

    private static void separate(StringBuilder sb, boolean first, Integer indent, int level) {
        if (indent == null) {
            if (!first) {
                sb.append(", ");
            }
            return;
        }
        if (!first) {
            sb.append(',');
        }
        sb.append('\n').append(" ".repeat(indent * level));
    }

    private static void close(StringBuilder sb, Integer indent, int level, char c) {
        if (indent != null) {
            sb.append('\n').append(" ".repeat(indent * level));
        }
        sb.append(c);
    }

    private static void quote(StringBuilder sb, String s, boolean ascii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ascii && c > 0x7e)) {
                        sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * What Python's {@code str()} prints for a value a template outputs: {@code True} / {@code False}, floats as
     * {@code repr}, lists and dicts as their {@code repr} (strings inside them quoted, {@code None}); other values
     * (strings, integers) are left to the caller (null).
     */
    static String pyStr(Object o) {
        if (o instanceof Boolean || o instanceof Double || o instanceof Float || o instanceof Collection<?>
                || o instanceof Map<?, ?>) {
            StringBuilder sb = new StringBuilder();
            repr(sb, o);
            return sb.toString();
        }
        return null;
    }

    private static void repr(StringBuilder sb, Object o) {
        if (o == null) {
            sb.append("None");
        } else if (o instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (o instanceof Double || o instanceof Float) {
            String f = pyFloat(((Number) o).doubleValue());
            sb.append(f.equals("NaN") ? "nan" : f.equals("Infinity") ? "inf" : f.equals("-Infinity") ? "-inf" : f);
        } else if (o instanceof CharSequence cs) {
            String s = cs.toString();
            char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
            sb.append(q);
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == q || c == '\\') {
                    sb.append('\\').append(c);
                } else if (c == '\n') {
                    sb.append("\\n");
                } else if (c == '\r') {
                    sb.append("\\r");
                } else if (c == '\t') {
                    sb.append("\\t");
                } else if (c < 0x20 || c == 0x7f) {
                    sb.append(String.format(java.util.Locale.ROOT, "\\x%02x", (int) c));
                } else {
                    sb.append(c);
                }
            }
            sb.append(q);
        } else if (o instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ");
                first = false;
                repr(sb, e.getKey());
                sb.append(": ");
                repr(sb, e.getValue());
            }
            sb.append('}');
        } else if (o instanceof Collection<?> c) {
            sb.append('[');
            boolean first = true;
            for (Object x : c) {
                sb.append(first ? "" : ", ");
                first = false;
                repr(sb, x);
            }
            sb.append(']');
        } else {
            sb.append(o);
        }
    }

    /** Python's {@code repr(float)}: shortest digits, exponent form below 1e-4 and from 1e16. */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal b = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exp = b.precision() - b.scale() - 1; // decimal exponent of the first digit
        if (exp < -4 || exp >= 16) {
            String digits = b.unscaledValue().abs().toString();
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + String.format(java.util.Locale.ROOT, "%02d", Math.abs(exp));
        }
        String plain = b.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }

    /** A filter's body: the value, positional and keyword arguments. */
    private interface Body {
        Object apply(Object var, Object[] args, Map<String, Object> kwargs);
    }

    private static AdvancedFilter filter(String name, Body body) {
        return new AdvancedFilter() {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
                return body.apply(var, args, kwargs);
            }
        };
    }

    private static Object arg(Object[] args, int i, Map<String, Object> kwargs, String name) {
        return args.length > i ? args[i] : kwargs.get(name);
    }

    private static Body toJson() {
        return (var, args, kw) -> {
            Object indent = arg(args, 0, kw, "indent");
            return toJson(var, indent == null ? null : ((Number) indent).intValue(),
                    Boolean.TRUE.equals(kw.get("ensure_ascii")), Boolean.TRUE.equals(kw.get("sort_keys")));
        };
    }

    private static Body strip(boolean left, boolean right) {
        return (var, args, kw) -> {
            Object chars = arg(args, 0, kw, "chars");
            return var == null ? "" : strip(var.toString(), chars == null ? null : chars.toString(), left, right);
        };
    }

    private static Body split() {
        return (var, args, kw) -> {
            Object sep = arg(args, 0, kw, "sep");
            Object max = arg(args, 1, kw, "maxsplit");
            return split(var == null ? "" : var.toString(), sep == null ? null : sep.toString(),
                    max == null ? -1 : ((Number) max).intValue());
        };
    }

    /** {@code s * n}: {@code n} an integer (or a boolean), none or fewer than one gives the empty string. */
    private static Body repeat() {
        return (var, args, kw) -> {
            Object n = arg(args, 0, kw, "n");
            long times;
            if (n instanceof Boolean b) {
                times = b ? 1 : 0;
            } else if (n instanceof Number x && x.doubleValue() == Math.rint(x.doubleValue())) {
                times = x.longValue();
            } else {
                throw new IllegalArgumentException("can't multiply sequence by non-int of type "
                        + (n == null ? "none" : n.getClass().getSimpleName()));
            }
            String str = var == null ? "" : var.toString();
            if (times <= 0 || str.isEmpty()) {
                return "";
            }
            if (times > ChatTemplate.MAX_OUTPUT / str.length()) {
                throw new IllegalArgumentException("string repetition of " + times + " x " + str.length()
                        + " characters is beyond the template's limit");
            }
            return str.repeat((int) times);
        };
    }
}
