# fuzz: engine
