"""microseg.targets"""
