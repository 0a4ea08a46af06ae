# see the test it lists
