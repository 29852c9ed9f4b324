"""microseg.losses"""
