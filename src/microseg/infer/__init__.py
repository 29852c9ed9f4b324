"""microseg.infer"""
