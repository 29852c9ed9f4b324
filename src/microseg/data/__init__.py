"""microseg.data"""
