"""microseg.train"""
