print("evalharness")
