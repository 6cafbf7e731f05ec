from PIL import Image
import numpy as np, shutil
D='/usr/lib/python3/dist-packages/skimage/data/'
for f in ['chelsea.png','astronaut.png','coffee.png','camera.png','logo.png','green_palette.png','horse.png','hubble_deep_field.jpg','chessboard_GRAY_U16.tif']:
    shutil.copy(D+f, 'img/'+f)
shutil.copy('/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg','img/china.jpg')
a = Image.open(D+'astronaut.png').convert('RGB')
al = np.array(a); alpha = (np.indices(al.shape[:2]).sum(0) % 256).astype(np.uint8)
Image.fromarray(np.dstack([al, alpha]), 'RGBA').save('img/rgba.png')
Image.fromarray(np.dstack([np.array(a.convert('L')), alpha]), 'LA').save('img/la.png')
c = Image.open(D+'chelsea.png').convert('RGB')
for o in [3, 6, 8]:
    ex = Image.Exif(); ex[0x0112] = o
    c.save(f'img/exif{o}.jpg', quality=90, exif=ex.tobytes())
c.save('img/prog.jpg', quality=85, progressive=True)
c.convert('P', palette=Image.ADAPTIVE, colors=64).save('img/pal.png')
Image.fromarray((np.array(c.convert('L')).astype(np.uint16)*257)).save('img/g16.png')
c.resize((7, 5)).save('img/tiny.png')
c.crop((0,0,451,40)).save('img/wide.png')
c.save('img/c.bmp'); c.save('img/c.webp', lossless=True); c.save('img/c.tiff')
c.convert('CMYK').save('img/cmyk.jpg')
open('img/notes.txt','w').write('not an image')
print(Image.open('img/g16.png').mode, Image.open('img/chessboard_GRAY_U16.tif').mode)
