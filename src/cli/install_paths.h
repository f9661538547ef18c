/* Where an installed binary finds what `cmake --install` put beside it: the templates under the
 * data dir (share/siteinvites/templates), found relative to the binary so the same build works
 * from any prefix (/usr from the .deb, /usr/local, a temporary root) and from the build tree. */
#ifndef SI_CLI_INSTALL_PATHS_H
#define SI_CLI_INSTALL_PATHS_H

#define INSTALL_PATH_MAX 4096 /* bytes of a path we build, NUL included */

/* The templates folder when --templates-dir is not set, the first that exists of:
 * ./templates (a copy beside the working directory, editable without C); the data dir of the
 * prefix this binary is installed in (<bindir>/<SI_DATADIR_FROM_BINDIR>/templates); the source
 * tree this binary was built from. When none exists, the installed path, so the error names
 * where an install would have put them. Heap string, never NULL (aborts on out-of-memory). */
char *install_templates_dir(void);

/* The data dir of the prefix the running binary sits in (e.g. /usr/share/siteinvites), or NULL
 * when /proc/self/exe cannot be read. Heap. */
char *install_data_dir(void);

#endif
