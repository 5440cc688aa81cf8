import CFuse3
func _probe() { var ops = fuse_lowlevel_ops(); _ = ops; let c = fuse_loop_cfg_create(); fuse_loop_cfg_destroy(c) }
