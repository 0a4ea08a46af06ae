# fuzz targets: data
