/*
 * spindle-host: the program an isolated pool's child executes (isolated.c). It holds
 * nothing of the JVM: it loads the scheduler library it is given and runs the worker side
 * of the pool there, on the region the JVM passed it as a descriptor.
 *
 *   spindle-host LIBRARY REGION_FD ADDRESS SIZE
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "spindle-host: started by Spindle's isolated pools only\n");
        return 2;
    }
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    int (*child_main)(int, char **) = library ? (int (*)(int, char **)) dlsym(library, "spn_isolated_child_main") : NULL;
    if (!child_main) {
        fprintf(stderr, "spindle-host: %s\n", dlerror());
        return 2;
    }
    return child_main(argc, argv);
}
