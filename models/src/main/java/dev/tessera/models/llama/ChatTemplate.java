package dev.tessera.models.llama;

import dev.tessera.runtime.io.JsonFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face chat template ({@code chat_template} of {@code tokenizer_config.json}, or a
 * {@code chat_template.jinja} / {@code chat_template.json} beside it) rendered with Jinjava, as
 * {@code tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)} does: Jinja's
 * {@code trim_blocks} and {@code lstrip_blocks}, the variables {@code messages}, {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token}, {@code unk_token}, {@code pad_token}, and the functions
 * {@code raise_exception(msg)} and {@code strftime_now(fmt)}. A message's {@code content} is a string, or a list of
 * parts ({@code {"type": "text", "text": ...}} / {@code {"type": "image"}}) for multimodal templates.
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();
    /** jinja2's sandbox (transformers renders in one) refuses a range beyond this; Jinjava's default cut it at 1000. */
    static final int MAX_RANGE = 100_000;
    /** Macro recursion deeper than this is refused (jinja2 runs into Python's recursion limit at a few hundred). */
    static final int MAX_MACRO_DEPTH = 200;
    /** A rendered prompt, or any string built on the way, this long is refused rather than cut. */
    static final long MAX_OUTPUT = 64L << 20;
    /**
     * Steps one render may take (the interpreter's context lookups: a few per node, loop iteration or variable
     * read) before it is refused: nested loops over long ranges would otherwise run for hours. A 1,000-turn
     * conversation through a tool-calling template takes well under a million.
     */
    static final long MAX_STEPS = 50_000_000L;

    /**
     * Ends a render that went past {@link #MAX_STEPS}. An {@link Error}, so that Jinjava's handlers, which record an
     * exception as a template error and go on with the next node or iteration, let it through to {@link #render}.
     */
    private static final class TooMuchWork extends Error {
        TooMuchWork() {
            super("chat template takes more than " + MAX_STEPS + " steps", null, false, false);
        }
    }

    private final String template;
    private final Map<String, String> specialTokens;
    private final Jinjava jinjava;

    /** One chat message; {@code content} is a String or a List of part maps. */
    public record Message(String role, Object content) {
        public Message {
            if (role == null || content == null) {
                throw new IllegalArgumentException("a chat message needs a role and content");
            }
        }

        public static Message system(String text) {
            return new Message("system", text);
        }

        public static Message user(String text) {
            return new Message("user", text);
        }

        public static Message assistant(String text) {
            return new Message("assistant", text);
        }

        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("role", role);
            m.put("content", content);
            return m;
        }
    }

    public ChatTemplate(String template, Map<String, String> specialTokens) {
        if (template == null || template.isBlank()) {
            throw new IllegalArgumentException("empty chat template");
        }
        this.template = pythonMethodsAsFilters(lstripBlocks(template));
        this.specialTokens = Map.copyOf(specialTokens);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // Jinjava's also strips before mid-line tags: lstripBlocks() instead
                .withFailOnUnknownTokens(false)
                .withNestedInterpretationEnabled(false)
                .withRangeLimit(MAX_RANGE)
                .withEnableRecursiveMacroCalls(true) // jinja2 allows them (JSON-schema printers in tool templates)
                .withMaxMacroRecursionDepth(MAX_MACRO_DEPTH)
                .withMaxOutputSize(MAX_OUTPUT)
                .withMaxStringLength(MAX_OUTPUT)
                .withInterperterFactory(new PyInterpreterFactory())
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUsePyishObjectMapper(false)
                        .withKeepNullableLoopValues(true)
                        .withIterateOverMapKeys(true) // jinja2 walks a dict's keys; Jinjava's default, its values
                        .build())
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        for (var f : PyFilters.all()) {
            jinjava.getGlobalContext().registerFilter(f);
        }
        jinjava.getGlobalContext().registerTag(new GenerationTag());
    }

    /**
     * The template of a model directory: {@code chat_template.jinja}, {@code chat_template.json} or the
     * {@code chat_template} of {@code tokenizer_config.json} (a string, or a list of named templates: "default"
     * is taken), with the special tokens of {@code tokenizer_config.json}, else of {@code special_tokens_map.json} (as
     * transformers fills them). Returns null when the directory has none.
     */
    public static ChatTemplate load(Path dir) {
        Map<String, String> specials = new HashMap<>();
        String tpl = null;
        try {
            Path cfg = dir.resolve("tokenizer_config.json");
            if (Files.isRegularFile(cfg)) {
                JsonNode n = JSON.readTree(cfg.toFile());
                addSpecials(n, specials);
                tpl = templateOf(n.get("chat_template"), cfg);
            }
            // transformers fills the special tokens tokenizer_config.json leaves out from special_tokens_map.json
            Path map = dir.resolve("special_tokens_map.json");
            if (Files.isRegularFile(map)) {
                addSpecials(JSON.readTree(map.toFile()), specials);
            }
            Path jinja = dir.resolve("chat_template.jinja");
            Path json = dir.resolve("chat_template.json");
            if (Files.isRegularFile(jinja)) {
                tpl = Files.readString(jinja);
            } else if (Files.isRegularFile(json)) {
                tpl = templateOf(JSON.readTree(json.toFile()).get("chat_template"), json);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the chat template in " + dir + ": " + JsonFiles.describe(e),
                    e);
        }
        return tpl == null ? null : new ChatTemplate(tpl, specials);
    }

    /** The special tokens {@code n} names that {@code specials} does not hold yet. */
    private static void addSpecials(JsonNode n, Map<String, String> specials) {
        for (String k : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            String v = tokenString(n.get(k));
            if (v != null) {
                specials.putIfAbsent(k, v);
            }
        }
    }

    private static String templateOf(JsonNode n, Path where) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.textValue();
        }
        if (n.isArray()) {
            for (JsonNode e : n) {
                if ("default".equals(e.path("name").asText())) {
                    return e.path("template").asText();
                }
            }
            if (n.size() > 0) {
                return n.get(0).path("template").asText();
            }
        }
        throw new IllegalArgumentException(where + ": chat_template must be a string or a list of {name, template}");
    }

    private static String tokenString(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.textValue();
        }
        return n.path("content").isTextual() ? n.path("content").textValue() : null;
    }

    /**
     * {@code {% generation %}...{% endgeneration %}}, which transformers' templates use to mark assistant text for
     * its {@code return_assistant_tokens_mask}: rendered as its body, as transformers does.
     */
    private static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder sb = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                sb.append(child.render(interpreter).getValue());
            }
            return sb.toString();
        }
    }

    /** Interpreters that print values as Python's {@code str()} does (see {@link PyFilters#pyStr}). */
    private static final class PyInterpreterFactory implements InterpreterFactory {
        @Override
        public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
            return new PyInterpreter(orig);
        }

        @Override
        public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig renderConfig) {
            return new PyInterpreter(application, context, renderConfig);
        }
    }

    private static final class PyInterpreter extends JinjavaInterpreter {
        /** Steps of this render, shared with the interpreters made from this one. */
        private final long[] steps;

        PyInterpreter(JinjavaInterpreter orig) {
            super(orig);
            steps = orig instanceof PyInterpreter p && p.steps != null ? p.steps : new long[1];
        }

        PyInterpreter(Jinjava application, Context context, JinjavaConfig renderConfig) {
            super(application, context, renderConfig);
            steps = new long[1];
        }

        /** Every node, loop iteration and variable read asks for the context: one step each, bounded. */
        @Override
        public Context getContext() {
            if (steps != null && ++steps[0] > MAX_STEPS) { // null while the superclass constructor runs
                throw new TooMuchWork();
            }
            return super.getContext();
        }

        @Override
        public String getAsString(Object o) {
            String py = PyFilters.pyStr(o);
            return py != null ? py : super.getAsString(o);
        }
    }

    /** Balanced parentheses up to {@code depth} levels deep, as a regular expression. */
    private static String parens(int depth) {
        String inner = "[^()]*";
        for (int d = 0; d < depth; d++) {
            inner = "(?:[^()]|\\(" + inner + "\\))*";
        }
        return "\\(" + inner + "\\)";
    }

    /**
     * A receiver: a name or a parenthesised expression, then attributes, subscripts and calls
     * ({@code (c|default('')).replace('a', '').strip()} is the strip of everything before it).
     */
    private static final String RECEIVER = "((?:[A-Za-z_][A-Za-z0-9_]*|" + parens(8) + ")"
            + "(?:\\.[A-Za-z_][A-Za-z0-9_]*|\\[[^\\[\\]]*\\]|" + parens(3) + ")*)";
    /** Call arguments: anything with balanced parentheses (two levels). */
    private static final String ARGS = "((?:[^()]|" + parens(2) + ")*)";
    private static final Pattern PY_METHOD = Pattern.compile(
            RECEIVER + "\\.(upper|lower|title|capitalize|strip|lstrip|rstrip|split)\\(" + ARGS + "\\)");
    private static final Pattern PY_JOIN = Pattern.compile("(\uE000\\d+\uE000)\\.join\\(" + ARGS + "\\)");

    /**
     * HF templates call Python methods that Jinjava (which calls Java methods) lacks or has with other semantics:
     * {@code x.upper()}, {@code .lower()}, {@code .title()}, {@code .capitalize()} become {@code (x|upper)} ...;
     * {@code x.strip(..)}, {@code .lstrip(..)}, {@code .rstrip(..)}, {@code .split(..)} the Python-semantics filters of
     * {@link PyFilters}, {@code (x|pysplit(..))} (Java's {@code split} takes a regular expression and drops trailing
     * empty parts); {@code 'sep'.join(xs)} becomes {@code (xs|join('sep'))}; {@code .startswith(x)} /
     * {@code .endswith(x)} the Java methods; {@code xs[::-1]} becomes {@code (xs|reverse|list)}; {@code not x is t}
     * becomes {@code not (x is t)}, Jinja2's precedence. Chains ({@code c.split('</think>')[-1].lstrip('\\n')}) are rewritten
     * from the inside out; the parentheses keep subscripts and further calls applying to the result.
     */
    /**
     * Jinja2's {@code lstrip_blocks} (transformers renders with it): the spaces and tabs from the start of a line to a
     * block or comment tag go; before a tag that follows other text on its line they stay ({@code "USER: {{ c }}
     * {% if %}"} keeps its space). {@code {%+} opts a tag out, as in Jinja2.
     */
    static String lstripBlocks(String t) {
        return LINE_INDENT_BEFORE_TAG.matcher(t).replaceAll("");
    }

    private static final Pattern LINE_INDENT_BEFORE_TAG = Pattern.compile("(?m)^[ \\t]+(?=\\{%(?!\\+)|\\{#)");

    /** Whether brackets and parentheses balance in {@code code} (string literals already set aside). */
    private static boolean balanced(String code) {
        int depth = 0;
        for (int i = 0; i < code.length(); i++) {
            char c = code.charAt(i);
            depth += c == '(' || c == '[' || c == '{' ? 1 : c == ')' || c == ']' || c == '}' ? -1 : 0;
            if (depth < 0) {
                return false;
            }
        }
        return depth == 0;
    }

    static String pythonMethodsAsFilters(String t) {
        // Only template code is rewritten: the inside of {{ }} and {% %}, outside its string literals (kept aside as
        // numbered placeholders between private-use characters meanwhile), so text such as "call .strip()" in a prompt stays as written.
        Matcher region = CODE.matcher(t);
        StringBuilder out = new StringBuilder();
        // the iterable of each open {% for %} (as rewritten), innermost first; "" where loop.previtem cannot be had
        java.util.Deque<String> loops = new java.util.ArrayDeque<>();
        int filtered = 0; // loops with an if filter so far (each gets its own list)
        // open for / if blocks, innermost first: {"for", iterable as rewritten, "else" once its else is seen} or {"if"}
        java.util.Deque<String[]> blocks = new java.util.ArrayDeque<>();
        int at = 0;
        while (region.find()) {
            out.append(t, at, region.start());
            List<String> literals = new ArrayList<>();
            String code = protect(region.group(), literals);
            Matcher forTag = FOR_TAG.matcher(code);
            boolean opens = forTag.matches();
            String iterable = opens && forTag.group(3) == null ? restore(rewriteCode(forTag.group(2)), literals) : "";
            boolean filterRewritten = opens && forTag.group(3) != null && forTag.group(3).strip().startsWith("if")
                    && balanced(forTag.group(2));
            if (filterRewritten) {
                // {% for T in XS if C %}: Jinjava ignores the filter. The items passing C are collected first (in
                // Jinja2, loop.index / length / last count only those, and an else block runs when none passes)
                String list = "__tsr_for" + (filtered++);
                String target = forTag.group(1).strip();
                String item = target.contains(",") ? "[" + target + "]" : target;
                code = (code.startsWith("{%-") ? "{%-" : "{%") + " set " + list + " = [] %}{% for " + target + " in "
                        + forTag.group(2) + " %}{% if " + forTag.group(3).strip().substring(2) + " %}{% do " + list
                        + ".append(" + item + ") %}{% endif %}{% endfor %}{% for " + target + " in " + list
                        + (code.endsWith("-%}") ? " -%}" : " %}");
                iterable = list;
            }
            if (!loops.isEmpty() && !loops.peek().isEmpty()) { // in the for tag itself, loop is still the outer one
                String items = "((" + protect(loops.peek(), literals) + ")|list)";
                code = LOOP_NEIGHBOUR.matcher(code).replaceAll(r -> Matcher.quoteReplacement(r.group(1).equals("previtem")
                        ? "(" + items + "[loop.index0 - 1] if loop.index0 > 0 else __tsr_undefined)"
                        : "(" + items + "[loop.index0 + 1] if not loop.last else __tsr_undefined)"));
            }
            boolean endsFor = END_FOR_TAG.matcher(code).matches();
            String open = code.startsWith("{%-") ? "{%-" : "{%";
            String close = code.endsWith("-%}") ? " -%}" : " %}";
            if (opens) {
                // the else part needs the iterable: not had for a recursive loop ("" as for loop.previtem)
                blocks.push(new String[] {"for", iterable, ""});
            } else if (IF_TAG.matcher(code).matches()) {
                blocks.push(new String[] {"if"});
            } else if (END_IF_TAG.matcher(code).matches() && !blocks.isEmpty() && blocks.peek()[0].equals("if")) {
                blocks.pop();
            } else if (ELSE_TAG.matcher(code).matches() && !blocks.isEmpty() && blocks.peek()[0].equals("for")
                    && !blocks.peek()[1].isEmpty()) {
                // {% for %}...{% else %}...{% endfor %}, which Jinjava does not have: the loop ends here and the else
                // part runs when the iterable was empty (after its filter)
                code = open + " endfor %}{% if ((" + protect(blocks.peek()[1], literals) + ")|list|length) == 0" + close;
                blocks.peek()[2] = "else";
            } else if (endsFor && !blocks.isEmpty() && blocks.peek()[0].equals("for")) {
                if (blocks.pop()[2].equals("else")) {
                    code = open + " endif" + close;
                }
            }
            out.append(restore(rewriteCode(code), literals));
            if (opens) {
                loops.push(iterable);
            } else if (endsFor && !loops.isEmpty()) {
                loops.pop();
            }
            at = region.end();
        }
        return out.append(t.substring(at)).toString();
    }

    /** {@code code} with its string literals replaced by numbered placeholders, appended to {@code literals}. */
    private static String protect(String code, List<String> literals) {
        Matcher lit = LITERAL.matcher(code);
        StringBuilder out = new StringBuilder();
        while (lit.find()) {
            lit.appendReplacement(out, Matcher.quoteReplacement("\uE000" + literals.size() + "\uE000"));
            literals.add(lit.group());
        }
        lit.appendTail(out);
        return out.toString();
    }

    /**
     * The literals put back. A backslash before a line break inside a literal continues the line, as in Python
     * (Mistral Small 3.1's default system message); Jinjava does not parse the break.
     */
    private static String restore(String code, List<String> literals) {
        return PLACEHOLDER.matcher(code).replaceAll(r -> Matcher.quoteReplacement(
                literals.get(Integer.parseInt(r.group(1))).replace("\\\n", "")));
    }

    /**
     * {@code {% for target in iterable [if cond] [recursive] %}}: group 2 the iterable, group 3 set where a condition
     * or recursion makes {@code loop.previtem} more than the neighbouring element of the iterable.
     */
    private static final Pattern FOR_TAG = Pattern.compile(
            "\\{%[-+]?\\s*for\\s+(.+?)\\s+in\\s+(.+?)(\\s+if\\s+.+?|\\s+recursive)?\\s*[-+]?%\\}", Pattern.DOTALL);
    private static final Pattern END_FOR_TAG = Pattern.compile("\\{%[-+]?\\s*endfor\\s*[-+]?%\\}");
    private static final Pattern IF_TAG = Pattern.compile("\\{%[-+]?\\s*if\\b.*%\\}", Pattern.DOTALL);
    private static final Pattern END_IF_TAG = Pattern.compile("\\{%[-+]?\\s*endif\\s*[-+]?%\\}");
    private static final Pattern ELSE_TAG = Pattern.compile("\\{%[-+]?\\s*else\\s*[-+]?%\\}");
    /**
     * {@code loop.previtem} / {@code loop.nextitem}, which Jinjava's loop object lacks: the neighbouring element of
     * the enclosing loop's iterable, undefined at the ends (as Jinja2's).
     */
    private static final Pattern LOOP_NEIGHBOUR = Pattern.compile("\\bloop\\.(previtem|nextitem)\\b");

    private static final Pattern PLACEHOLDER = Pattern.compile("\uE000(\\d+)\uE000");
    private static final Pattern CODE = Pattern.compile("\\{\\{.*?\\}\\}|\\{%.*?%\\}", Pattern.DOTALL);
    private static final Pattern LITERAL = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"", Pattern.DOTALL);

    private static String rewriteCode(String code) {
        String s = code;
        for (int guard = 0; guard < 1000; guard++) {
            Matcher m = PY_METHOD.matcher(s);
            if (!m.find()) {
                break;
            }
            String method = m.group(2);
            String args = m.group(3).trim();
            String filter = switch (method) {
                case "strip", "lstrip", "rstrip", "split" -> "py" + method + "(" + args + ")";
                default -> method;
            };
            s = s.substring(0, m.start()) + "(" + m.group(1) + "|" + filter + ")" + s.substring(m.end());
        }
        s = REPEAT_RIGHT.matcher(s).replaceAll(r -> Matcher.quoteReplacement("(" + r.group(1) + "|pyrepeat(" + r.group(2)
                + "))"));
        s = REPEAT_LEFT.matcher(s).replaceAll(r -> Matcher.quoteReplacement("(" + r.group(r.groupCount()) + "|pyrepeat("
                + r.group(1) + "))"));
        s = PY_JOIN.matcher(s).replaceAll(r -> Matcher.quoteReplacement("((" + r.group(2) + ")|join(" + r.group(1) + "))"));
        s = REVERSED.matcher(s).replaceAll(r -> Matcher.quoteReplacement("(" + r.group(1) + "|reverse|list)"));
        s = NOT_IS.matcher(s).replaceAll(r -> Matcher.quoteReplacement("not (" + r.group(1) + " is "
                + (r.group(2) == null ? "" : "not ") + r.group(3) + ")"));
        return s.replace(".startswith(", ".startsWith(").replace(".endswith(", ".endsWith(");
    }

    /**
     * {@code not x is defined} is {@code not (x is defined)} in Jinja2, {@code (not x) is defined} in Jinjava (DeepSeek-R1's
     * {@code if not add_generation_prompt is defined} then dropped the generation prompt): made explicit for the
     * tests without arguments.
     */
    private static final Pattern NOT_IS = Pattern.compile("\\bnot\\s+" + RECEIVER + "\\s+is\\s+(not\\s+)?"
            + "(defined|undefined|none|string|number|mapping|iterable|sequence|boolean|true|false|integer|float|callable"
            + "|lower|upper|even|odd)\\b");

    /**
     * A count for string repetition: a number, or an operand (a name with attributes / subscripts, or parentheses)
     * with the filters that bind tighter than {@code *} ({@code '.' * xs|length} is {@code '.' * (xs|length)}).
     */
    private static final String COUNT = "(-?\\d+|" + RECEIVER + "(?:\\s*\\|\\s*[A-Za-z_][A-Za-z0-9_]*(?:" + parens(2)
            + ")?)*)";
    /** {@code 'ab' * n} (a string literal, kept as a placeholder here, times a count; not {@code **}). */
    private static final Pattern REPEAT_RIGHT = Pattern.compile("(\uE000\\d+\uE000)\\s*(?<!\\*)\\*(?!\\*)\\s*" + COUNT);
    /** {@code n * 'ab'}. */
    private static final Pattern REPEAT_LEFT = Pattern.compile("(?<![\\w.\\])\\]])(\\d+|" + RECEIVER
            + ")\\s*(?<!\\*)\\*(?!\\*)\\s*(\uE000\\d+\uE000)");

    /** {@code xs[::-1]} (Qwen3's {@code for message in messages[::-1]}): Jinjava has no slice steps. */
    private static final Pattern REVERSED = Pattern.compile(RECEIVER + "\\[\\s*:\\s*:\\s*-\\s*1\\s*\\]");

    /** The special token strings the template sees ({@code bos_token}, {@code eos_token}, ...). */
    public Map<String, String> specialTokens() {
        return specialTokens;
    }

    /** The template source. */
    public String source() {
        return template;
    }

    /** Renders {@code messages}; {@code addGenerationPrompt} appends the assistant header. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** As {@link #render(List, boolean)} with extra template variables (e.g. {@code tools}, {@code date_string}). */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            msgs.add(m.asMap());
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("bos_token", "");
        ctx.put("eos_token", "");
        ctx.putAll(specialTokens);
        ctx.putAll(extra);
        // the functions are globals in transformers' environment, so templates test them with `is defined`
        // (Llama 3.2's: `{% if strftime_now is defined %}` for today's date); calls still reach the functions
        ctx.put("strftime_now", "<function strftime_now>");
        ctx.put("raise_exception", "<function raise_exception>");
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        RAISED.remove();
        RenderResult r;
        try {
            r = jinjava.renderForResult(template, ctx);
        } catch (StackOverflowError e) { // Jinjava's parser and evaluator recurse on nesting: (((( ... or {% if %}{% if %}
            RAISED.remove();
            throw new IllegalArgumentException("chat template nests too deeply to render");
        } catch (TooMuchWork e) {
            RAISED.remove();
            throw new IllegalArgumentException("chat template does too much work: more than " + MAX_STEPS
                    + " steps (nested loops over long ranges?)");
        }
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) {
            throw new IllegalArgumentException("chat template: " + printable(raised));
        }
        for (TemplateError e : r.getErrors()) {
            String m = String.valueOf(e.getMessage());
            // Jinjava only warns where it cut a macro recursion short (its output is then wrong): an error here
            if (e.getSeverity() == TemplateError.ErrorType.FATAL || m.contains("recursion limit")
                    || m.contains("Cycle detected")) {
                throw new IllegalArgumentException("chat template failed: " + printable(m)
                        + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""));
            }
        }
        if (r.getOutput().length() >= MAX_OUTPUT) { // Jinjava cuts the output at the limit without an error
            throw new IllegalArgumentException("chat template renders " + MAX_OUTPUT + " characters or more");
        }
        return r.getOutput();
    }

    /**
     * A message for one error line: Jinjava quotes the template text it failed on, which may hold line breaks and
     * control characters; those become spaces and '?', and the whole is cut at 300 characters.
     */
    private static String printable(String m) {
        String s = JsonFiles.oneLine(String.valueOf(m)).replaceAll("\\p{Cntrl}", "?");
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** {@code raise_exception(msg)} of HF templates: the render fails with {@code msg}. */
    public static String raiseException(Object message) {
        String m = String.valueOf(message);
        RAISED.set(m);
        throw new IllegalArgumentException(m);
    }

    /** {@code strftime_now(fmt)}: the current date in a Python strftime format (common directives). */
    public static String strftimeNow(String fmt) {
        ZonedDateTime now = ZonedDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 == fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            String p = switch (d) {
                case 'd' -> "dd";
                case 'b' -> "MMM";
                case 'B' -> "MMMM";
                case 'm' -> "MM";
                case 'Y' -> "yyyy";
                case 'y' -> "yy";
                case 'H' -> "HH";
                case 'M' -> "mm";
                case 'S' -> "ss";
                case 'A' -> "EEEE";
                case 'a' -> "EEE";
                default -> null;
            };
            sb.append(p == null ? (d == '%' ? "%" : "%" + d) : now.format(DateTimeFormatter.ofPattern(p, Locale.ENGLISH)));
        }
        return sb.toString();
    }
}
