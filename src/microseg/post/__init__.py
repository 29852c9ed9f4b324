"""microseg.post"""
