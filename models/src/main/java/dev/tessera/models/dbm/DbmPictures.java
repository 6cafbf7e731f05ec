package dev.tessera.models.dbm;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/** PNG pictures of the digit model: image grids (javax.imageio) and training curves (XChart, headless). */
public final class DbmPictures {
    private DbmPictures() {}

    /** Writes 28×28 images (pixel values in [0, 1]) as a grid of {@code cols} columns, each pixel scaled ×2. */
    public static void writeGrid(float[][] images, int cols, Path out) throws IOException {
        int side = 28;
        for (int i = 0; i < images.length; i++) {
            if (images[i].length != side * side) {
                throw new IllegalArgumentException("image " + i + " has " + images[i].length + " pixels, expected 784 (28×28)");
            }
        }
        int n = images.length;
        int rows = Math.max(1, (n + cols - 1) / cols);
        int s = 2;
        int cell = side * s + 2;
        BufferedImage img = new BufferedImage(cols * cell, rows * cell, BufferedImage.TYPE_BYTE_GRAY);
        for (int k = 0; k < n; k++) {
            int ox = (k % cols) * cell + 1;
            int oy = (k / cols) * cell + 1;
            for (int y = 0; y < side * s; y++) {
                for (int x = 0; x < side * s; x++) {
                    float v = images[k][(y / s) * side + x / s];
                    int g = Math.max(0, Math.min(255, Math.round(v * 255)));
                    img.getRaster().setSample(ox + x, oy + y, 0, g);
                }
            }
        }
        if (out.toAbsolutePath().getParent() != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
        }
        ImageIO.write(img, "png", out.toFile());
    }

    /** Training curves: reconstruction error per layer and the image layer's free-energy gap, per epoch. */
    public static void curves(List<MultimodalDbn.Progress> progress, Path out) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title("Multimodal DBN training")
                .xAxisTitle("epoch").yAxisTitle("reconstruction error / free-energy gap").build();
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (MultimodalDbn.Progress p : progress) {
            series.computeIfAbsent(p.layer() + " recon", k -> new ArrayList<>())
                    .add(new double[] {p.epoch(), p.reconstructionError() / 100});
            if (!Double.isNaN(p.freeEnergyGap())) {
                series.computeIfAbsent(p.layer() + " F gap (held-out − train)", k -> new ArrayList<>())
                        .add(new double[] {p.epoch(), p.freeEnergyGap()});
            }
        }
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(a -> a[0]).toArray();
            double[] y = e.getValue().stream().mapToDouble(a -> a[1]).toArray();
            chart.addSeries(e.getKey().replace(" recon", " recon/100"), x, y);
        }
        if (out.toAbsolutePath().getParent() != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
        }
        BitmapEncoder.saveBitmap(chart, out.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
