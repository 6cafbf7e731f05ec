package dev.tessera.models.whisper;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Whisper's language names, so that a language may be given as its code ({@code de}) or, as openai-whisper's
 * command line also takes it, by its English name in any case ({@code German}, {@code german}) or one of the
 * reference's aliases ({@code Castilian}, {@code Mandarin}, ...). Which languages a checkpoint knows is its
 * generation config's {@code lang_to_id}; this class only translates names.
 */
public final class WhisperLanguages {
    private WhisperLanguages() {}

    private static final String[] CODES_AND_NAMES = {
        "en", "english", "zh", "chinese", "de", "german", "es", "spanish", "ru", "russian", "ko", "korean",
        "fr", "french", "ja", "japanese", "pt", "portuguese", "tr", "turkish", "pl", "polish", "ca", "catalan",
        "nl", "dutch", "ar", "arabic", "sv", "swedish", "it", "italian", "id", "indonesian", "hi", "hindi",
        "fi", "finnish", "vi", "vietnamese", "he", "hebrew", "uk", "ukrainian", "el", "greek", "ms", "malay",
        "cs", "czech", "ro", "romanian", "da", "danish", "hu", "hungarian", "ta", "tamil", "no", "norwegian",
        "th", "thai", "ur", "urdu", "hr", "croatian", "bg", "bulgarian", "lt", "lithuanian", "la", "latin",
        "mi", "maori", "ml", "malayalam", "cy", "welsh", "sk", "slovak", "te", "telugu", "fa", "persian",
        "lv", "latvian", "bn", "bengali", "sr", "serbian", "az", "azerbaijani", "sl", "slovenian", "kn", "kannada",
        "et", "estonian", "mk", "macedonian", "br", "breton", "eu", "basque", "is", "icelandic", "hy", "armenian",
        "ne", "nepali", "mn", "mongolian", "bs", "bosnian", "kk", "kazakh", "sq", "albanian", "sw", "swahili",
        "gl", "galician", "mr", "marathi", "pa", "punjabi", "si", "sinhala", "km", "khmer", "sn", "shona",
        "yo", "yoruba", "so", "somali", "af", "afrikaans", "oc", "occitan", "ka", "georgian", "be", "belarusian",
        "tg", "tajik", "sd", "sindhi", "gu", "gujarati", "am", "amharic", "yi", "yiddish", "lo", "lao",
        "uz", "uzbek", "fo", "faroese", "ht", "haitian creole", "ps", "pashto", "tk", "turkmen", "nn", "nynorsk",
        "mt", "maltese", "sa", "sanskrit", "lb", "luxembourgish", "my", "myanmar", "bo", "tibetan", "tl", "tagalog",
        "mg", "malagasy", "as", "assamese", "tt", "tatar", "haw", "hawaiian", "ln", "lingala", "ha", "hausa",
        "ba", "bashkir", "jw", "javanese", "su", "sundanese", "yue", "cantonese",
    };

    private static final String[] ALIASES = {
        "burmese", "my", "valencian", "ca", "flemish", "nl", "haitian", "ht", "letzeburgesch", "lb", "pushto", "ps",
        "panjabi", "pa", "moldavian", "ro", "moldovan", "ro", "sinhalese", "si", "castilian", "es", "mandarin", "zh",
    };

    private static final Map<String, String> BY_NAME = new HashMap<>();

    static {
        for (int i = 0; i < CODES_AND_NAMES.length; i += 2) {
            BY_NAME.put(CODES_AND_NAMES[i + 1], CODES_AND_NAMES[i]);
        }
        for (int i = 0; i < ALIASES.length; i += 2) {
            BY_NAME.put(ALIASES[i], ALIASES[i + 1]);
        }
    }

    /**
     * The code of {@code language}: a known name or alias (any case) becomes its code, anything else is returned
     * trimmed and lower-cased (a code, checked later against the checkpoint); null stays null.
     */
    public static String code(String language) {
        if (language == null) {
            return null;
        }
        String l = language.trim().toLowerCase(Locale.ROOT);
        return BY_NAME.getOrDefault(l, l);
    }
}
