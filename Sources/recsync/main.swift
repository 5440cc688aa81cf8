print("recsync")
