package dev.tessera.runtime;

/** Elementwise binary operators; ordinals match the C API's {@code TSR_OP_*}. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV;

    public int code() {
        return ordinal();
    }
}
