# see the owning module
