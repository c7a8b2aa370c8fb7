print("outpostwatch")
