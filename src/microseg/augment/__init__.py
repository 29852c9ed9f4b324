"""microseg.augment"""
