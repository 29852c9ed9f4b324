"""microseg.track"""
