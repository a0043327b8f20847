/*
 * upcall_test.c: native code on a raw thread that calls Java through JNI: it attaches to
 * the JVM, calls a static method, and detaches, as a library's callback would.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>

typedef jint (*get_created_vms)(JavaVM **, jsize, jsize *);

/* One attach, call of io.spindle.runtime.UpcallTarget.called(value), detach: the method's
 * result, or a negative code naming the step that failed. */
static jlong upcall_once(JavaVM *vm, jlong value)
{
    JNIEnv *env;
    JavaVMAttachArgs attach = {JNI_VERSION_21, "spindle-upcall", NULL};
    if ((*vm)->AttachCurrentThread(vm, (void **) &env, &attach) != JNI_OK)
        return -2;
    jlong result = -3;
    jclass target = (*env)->FindClass(env, "io/spindle/runtime/UpcallTarget");
    if (target) {
        jmethodID called = (*env)->GetStaticMethodID(env, target, "called", "(J)J");
        result = called ? (*env)->CallStaticLongMethod(env, target, called, value) : -4;
        if ((*env)->ExceptionCheck(env))
            result = -5;
        (*env)->DeleteLocalRef(env, target);
    }
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    if ((*vm)->DetachCurrentThread(vm) != JNI_OK)
        return -6;
    return result;
}

/* arg = n: n cycles of attach, call with i, detach. Returns the sum of the results, or the
 * first failure's code. */
intptr_t spn_test_upcalls(void *arg)
{
    get_created_vms get = (get_created_vms) dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs");
    JavaVM *vm;
    jsize count = 0;
    if (!get || get(&vm, 1, &count) != JNI_OK || count != 1)
        return -1;
    jlong sum = 0;
    for (intptr_t i = 0; i < (intptr_t) arg; i++) {
        jlong r = upcall_once(vm, (jlong) i);
        if (r < 0)
            return (intptr_t) r;
        sum += r;
    }
    return (intptr_t) sum;
}
