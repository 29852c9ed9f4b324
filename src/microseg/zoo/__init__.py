"""microseg.zoo"""
