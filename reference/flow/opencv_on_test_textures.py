#!/usr/bin/env python3
"""OpenCV DIS (medium) on the procedural images of
crates/stylize-flow/tests/dis.rs (same texture, same warps), to justify the
EPE thresholds of those tests. Prints the interior (8 px border) EPE.

Usage: opencv_on_test_textures.py   (needs opencv-python-headless, numpy)
"""
import numpy as np, cv2, math
def rnd_gen():
    s=0x2545f491
    while True:
        s ^= (s<<13)&0xffffffff; s ^= s>>17; s ^= (s<<5)&0xffffffff
        yield np.float32(s)/np.float32(4294967295.0)
def texture(x,y):
    r=rnd_gen(); v=0
    for _ in range(24):
        wl=8+32*next(r); ang=2*math.pi*next(r); ph=2*math.pi*next(r); amp=4+8*next(r); k=2*math.pi/wl
        v=v+amp*np.sin(k*(math.cos(ang)*x+math.sin(ang)*y)+ph)
    return np.clip(128+v,0,255)
w,h=128,96
ys,xs=np.mgrid[0:h,0:w].astype(np.float64)
def g(x,y): return 2+1.5*np.sin(x/23)+0.8*np.cos(y/17), -1+1.2*np.sin(y/19+x/41)
a=texture(xs,ys); gu,gv=g(xs,ys); b=texture(xs+gu,ys+gv)
u=np.zeros_like(xs); v=np.zeros_like(xs)
for _ in range(50):
    gu,gv=g(xs+u,ys+v); u,v=-gu,-gv
dis=cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
for name,(A,B,U,V) in {'warp':(a,b,u,v),'trans':(a,texture(xs-2.3,ys+1.7),np.full_like(xs,2.3),np.full_like(xs,-1.7))}.items():
    f=dis.calc(np.round(A).astype(np.uint8),np.round(B).astype(np.uint8),None)
    e=np.sqrt((f[...,0]-U)**2+(f[...,1]-V)**2)[8:-8,8:-8].mean()
    print(name,'opencv EPE',e)
