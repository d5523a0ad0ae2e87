// The subcommands of the rhotrain binary, one file each in cli/: parse the flags, call the library, print.
#pragma once

namespace rhotrain {

int cmd_synth(int argc, char** argv);
int cmd_import(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_split(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_fit_codec(int argc, char** argv);
int cmd_fit_atoms(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_preview(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_experiment(int argc, char** argv);
int cmd_compare(int argc, char** argv);
int cmd_logs(int argc, char** argv);
int cmd_predict(int argc, char** argv);
int cmd_plot(int argc, char** argv);

}  // namespace rhotrain
