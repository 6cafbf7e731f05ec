import numpy as np, shutil, os
from PIL import Image, ImageDraw
D="/tmp/tessera-hf/vision/imgs"; os.makedirs(D,exist_ok=True)
rng=np.random.default_rng(0)
def grad(w,h):
    x=np.linspace(0,1,w)[None,:,None]; y=np.linspace(0,1,h)[:,None,None]
    a=np.concatenate([x*np.ones((h,1,1)), y*np.ones((1,w,1)), (x*y)],axis=2)
    return (a*255).astype(np.uint8)
# 1: gradient + shapes, landscape PNG
im=Image.fromarray(grad(320,200)); d=ImageDraw.Draw(im)
d.ellipse((40,30,160,150),fill=(200,30,40)); d.rectangle((180,60,300,180),fill=(20,180,90))
im.save(f"{D}/grad_shapes.png")
# 2: noise portrait JPEG
a=rng.integers(0,256,(257,131,3),dtype=np.uint8); Image.fromarray(a).save(f"{D}/noise_tall.jpg",quality=90)
# 3: smooth blobs square JPEG
yy,xx=np.mgrid[0:150,0:150]
a=np.stack([128+100*np.sin(xx/11.0),128+100*np.cos(yy/7.0),128+100*np.sin((xx+yy)/17.0)],-1).astype(np.uint8)
im=Image.fromarray(a); d=ImageDraw.Draw(im); d.polygon([(10,140),(75,5),(140,140)],outline=(255,255,0),width=4)
im.save(f"{D}/waves_sq.jpg",quality=85)
# 4: tiny odd-size image PNG
Image.fromarray(rng.integers(0,256,(23,37,3),dtype=np.uint8)).save(f"{D}/tiny.png")
# 5: grayscale PNG (mode L)
Image.fromarray(grad(90,60)[:,:,0]).save(f"{D}/gray.png")
# 6: RGBA png
a=np.concatenate([grad(64,96),rng.integers(0,256,(96,64,1),dtype=np.uint8)],2); Image.fromarray(a,"RGBA").save(f"{D}/rgba.png")
# real images
for src in ["/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg","/usr/share/doc/nodejs/contributing/doc_img/scatter-plot.png"]:
    if os.path.exists(src): shutil.copy(src,f"{D}/real_"+os.path.basename(src))
for f in sorted(os.listdir(D)):
    im=Image.open(f"{D}/{f}"); print(f,im.size,im.mode)
