"""microseg.models"""
