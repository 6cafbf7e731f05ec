/**
 * Batch inference on Apache Spark: Tessera's pipelines as Dataset stages, for data that does not fit one machine.
 *
 * <p>{@link dev.tessera.spark.TextEmbedder} (sentence embeddings), {@link dev.tessera.spark.ImageClassifier} (ViT)
 * and {@link dev.tessera.spark.ImageEmbedder} (CLIP) append their outputs to each row of a Dataset; Spark schedules,
 * retries and writes, Tessera runs the model. Each executor JVM loads a model once and shares it among its tasks
 * ({@link dev.tessera.spark.ExecutorModels}); each batch of a partition runs in a Tessera scope, so native and device
 * memory stay flat however many rows pass. See docs/spark.md.
 */
package dev.tessera.spark;
