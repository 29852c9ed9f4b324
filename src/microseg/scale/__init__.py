"""microseg.scale"""
