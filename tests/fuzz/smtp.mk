# fuzz targets: smtp
