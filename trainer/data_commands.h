// Subcommands that create, fill and inspect material stores: synth, import, export, split, info.
// They share the store summary printer and the atomic "modify a copy, then rename" update of a store.
#pragma once

namespace rhotrain {

int cmd_info(int argc, char** argv);
int cmd_import(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_split(int argc, char** argv);
int cmd_synth(int argc, char** argv);

}  // namespace rhotrain
