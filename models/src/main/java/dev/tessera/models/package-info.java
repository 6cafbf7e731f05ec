/**
 * Model architectures composed from {@link dev.tessera.runtime.Ops}: one package per family
 * ({@code vit}, {@code clip}, {@code bert}, {@code whisper}, {@code llama}, {@code llava}, {@code rbm}).
 * The families land with their issues; this module holds the shared pieces until then.
 */
package dev.tessera.models;
