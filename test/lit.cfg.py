# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "SAMOYEDS"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.samoyeds_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.samoyeds_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["samoyeds-opt", "not", "FileCheck", "count"],
                                   tool_dirs)
config.substitutions.append(("%samoyeds_src", config.samoyeds_src_root))

# ptxas assembles the emitted PTX where it is installed; tests that need it
# are marked `REQUIRES: ptxas` and lit lists them as UNSUPPORTED otherwise.
ptxas = os.environ.get("SAMOYEDS_PTXAS") or shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
    config.substitutions.append(("%{ptxas_dir}", os.path.dirname(ptxas)))
else:
    lit_config.note("ptxas not found: PTX assembly tests are unsupported here")

# The runtime's test programs read the bundles the compiler writes; without a
# GPU they validate the manifest and report SKIPPED.
rt_bin = os.path.join(config.samoyeds_obj_root, "runtime")
if os.path.exists(os.path.join(rt_bin, "moe-gpu-test")):
    config.available_features.add("runtime")
    config.substitutions.append(("%samoyeds_rt", rt_bin))
else:
    lit_config.note("runtime not built: bundle/runtime integration tests are unsupported")
