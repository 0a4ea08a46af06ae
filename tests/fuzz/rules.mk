# fuzz targets: rules
