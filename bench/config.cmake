# The config suite measures libyaml's bare event parse beside the loader (the floor under both).
target_link_libraries(esper_bench PRIVATE yaml)
