"""microseg.metrics"""
