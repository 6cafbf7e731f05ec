"""Four-component JPEGs and Pillow's decode of each (cmyk_*_rgb.npy: Image.open(f), ImageOps.exif_transpose as
transformers' load_image applies it, convert("RGB")), for ImageTest.cmykJpegsDecodeAsPillow. OpenCV converts CMYK to
RGB with k - ((255 - c) * k >> 8), Pillow with a rounded division by 255: one level apart on most pixels.

Cases (47x31, from scikit-image's chelsea: skimage/data/chelsea.png from Debian python3-skimage, "Chelsea the cat" by
Stefan van der Walt, public domain / CC0 per scikit-image's data README):
  cmyk.jpg              Pillow's CMYK JPEG (Adobe marker, transform 0: CMYK stored inverted)
  cmyk_progressive.jpg  the same, progressive
  cmyk_noadobe.jpg      cmyk.jpg without its Adobe segment (libjpeg and Pillow still read CMYK, inverted)
  cmyk_exif6.jpg        with EXIF Orientation 6 (turned upright: 31x47)
  ycck.jpg, ycck420.jpg YCCK (Adobe transform 2, what Photoshop writes), all components full size / Y and K 2x2:
                        Pillow cannot write these; the JDK's JPEG writer does (the Java program below, run with
                        `java` on the PATH), from cmyk.jpg's samples
  cmyk_truncated.jpg    cmyk.jpg cut in the middle of its scan (Pillow: "image file is truncated"): refused

Run from this folder:  /usr/bin/python3 make_cmyk_fixture.py   (Pillow 9.4, Debian python3-pil; Pillow 12.3 gives the
same pixels)"""
import os
import subprocess
import tempfile

import numpy as np
import skimage.data
from PIL import Image, ImageOps

WRITER = r'''
import java.io.File;
import javax.imageio.*;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.*;
import org.w3c.dom.*;

/** args: in.jpg out.jpg adobe-transform [subsample]: rewrites in.jpg's samples with another Adobe transform. */
public class YcckWriter {
    public static void main(String[] a) throws Exception {
        ImageReader r = ImageIO.getImageReadersByFormatName("jpeg").next();
        r.setInput(ImageIO.createImageInputStream(new File(a[0])));
        java.awt.image.Raster ras = r.readRaster(0, null);
        IIOMetadata md = r.getImageMetadata(0);
        String f = "javax_imageio_jpeg_image_1.0";
        Element root = (Element) md.getAsTree(f);
        ((Element) root.getElementsByTagName("app14Adobe").item(0)).setAttribute("transform", a[2]);
        if (a.length > 3) {
            NodeList c = root.getElementsByTagName("componentSpec");
            for (int i = 0; i < c.getLength(); i++) {
                String s = i == 0 || i == 3 ? "2" : "1";
                ((Element) c.item(i)).setAttribute("HsamplingFactor", s);
                ((Element) c.item(i)).setAttribute("VsamplingFactor", s);
            }
        }
        md.setFromTree(f, root);
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(new File(a[1]))) {
            w.setOutput(out);
            w.write(null, new IIOImage(ras, null, md), null);
        }
    }
}
'''


def strip_adobe(b):
    i = 2
    while b[i] == 0xFF and b[i + 1] != 0xDA:
        n = int.from_bytes(b[i + 2:i + 4], 'big')
        if b[i + 1] == 0xEE and b[i + 4:i + 9] == b'Adobe':
            return b[:i] + b[i + 2 + n:]
        i += 2 + n
    raise ValueError('no Adobe segment')


cat = Image.fromarray(skimage.data.chelsea()).resize((47, 31), Image.BILINEAR).convert('CMYK')
cat.save('cmyk.jpg', quality=90)
cat.save('cmyk_progressive.jpg', quality=80, progressive=True)
open('cmyk_noadobe.jpg', 'wb').write(strip_adobe(open('cmyk.jpg', 'rb').read()))
exif = Image.Exif()
exif[0x0112] = 6
cat.save('cmyk_exif6.jpg', quality=90, exif=exif.tobytes())
with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, 'YcckWriter.java')
    open(src, 'w').write(WRITER)
    subprocess.run(['java', src, 'cmyk.jpg', 'ycck.jpg', '2'], check=True)
    subprocess.run(['java', src, 'cmyk.jpg', 'ycck420.jpg', '2', 'subsample'], check=True)
b = open('cmyk.jpg', 'rb').read()
open('cmyk_truncated.jpg', 'wb').write(b[:len(b) * 2 // 3])

for name in ['cmyk.jpg', 'cmyk_progressive.jpg', 'cmyk_noadobe.jpg', 'cmyk_exif6.jpg', 'ycck.jpg', 'ycck420.jpg']:
    im = Image.open(name)
    rgb = np.asarray(ImageOps.exif_transpose(im).convert('RGB')).astype(np.int32)
    np.save(name.replace('.jpg', '_rgb.npy'), rgb)
    print(name, im.mode, im.info.get('adobe_transform'), im.layer, rgb.shape)
try:
    Image.open('cmyk_truncated.jpg').convert('RGB')
    raise SystemExit('cmyk_truncated.jpg decoded')
except OSError as e:
    print('cmyk_truncated.jpg:', e)
