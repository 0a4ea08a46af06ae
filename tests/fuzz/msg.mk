# fuzz: msg
