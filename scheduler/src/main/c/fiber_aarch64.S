/*
 * The green-thread context switch, AArch64 (AAPCS64).
 *
 *   void spn_ctx_switch(void **save_sp, void *load_sp)
 *
 * Saves the callee-saved registers (x19-x28, the frame pointer x29, the link register x30,
 * the low halves d8-d15 of v8-v15) and FPCR on the current stack, stores sp in *save_sp,
 * loads load_sp and restores the same. Built with Debian's cross compiler and run under
 * qemu-user by NativeSelfTest (scheduler/src/test/selftest).
 *
 * A suspended stack, from load_sp upwards (176 bytes, 16-byte aligned):
 *
 *   0   x19 x20 | 16 x21 x22 | 32 x23 x24 | 48 x25 x26 | 64 x27 x28 |
 *   80  x29 x30 (x30: where `ret` resumes) |
 *   96  d8 d9 | 112 d10 d11 | 128 d12 d13 | 144 d14 d15 | 160 fpcr, pad
 *
 * A new fiber's frame has x30 = spn_fiber_trampoline and x19 = the fiber.
 */
#if defined(__aarch64__)
    .text
    .globl spn_ctx_switch
    .hidden spn_ctx_switch
    .type spn_ctx_switch, %function
    .p2align 4
spn_ctx_switch:
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldr x9, [sp, #160]
    msr fpcr, x9
    ldp d14, d15, [sp, #144]
    ldp d12, d13, [sp, #128]
    ldp d10, d11, [sp, #112]
    ldp d8, d9, [sp, #96]
    ldp x29, x30, [sp, #80]
    ldp x27, x28, [sp, #64]
    ldp x25, x26, [sp, #48]
    ldp x23, x24, [sp, #32]
    ldp x21, x22, [sp, #16]
    ldp x19, x20, [sp, #0]
    add sp, sp, #176
    ret
    .size spn_ctx_switch, .-spn_ctx_switch

    .globl spn_fiber_trampoline
    .hidden spn_fiber_trampoline
    .type spn_fiber_trampoline, %function
    .p2align 4
spn_fiber_trampoline:
    mov x0, x19
    bl spn_fiber_main
    brk #0                      /* spn_fiber_main never returns */
    .size spn_fiber_trampoline, .-spn_fiber_trampoline

/*
 *   void spn_call_on_stack(void *stack_top, void (*fn)(void *), void *arg)  (never returns)
 *
 * Calls fn(arg) with sp at stack_top (16-byte aligned): the stack overflow report runs on
 * the worker's signal stack, not on the green stack that just ran out.
 */
    .globl spn_call_on_stack
    .hidden spn_call_on_stack
    .type spn_call_on_stack, %function
    .p2align 4
spn_call_on_stack:
    mov sp, x0
    mov x0, x2
    blr x1
    brk #0                      /* fn never returns */
    .size spn_call_on_stack, .-spn_call_on_stack

/*
 *   intptr_t spn_run_on_stack(void *stack_top, intptr_t (*fn)(void *), void *arg)
 *
 * As in fiber_x86_64.S: fn(arg) on the stack at stack_top (aligned down to 16), then back.
 * x29 keeps the caller's stack pointer, and frames the call for unwinders.
 */
    .globl spn_run_on_stack
    .hidden spn_run_on_stack
    .type spn_run_on_stack, %function
    .align 4
spn_run_on_stack:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov x29, sp
    .cfi_def_cfa x29, 16
    and x9, x0, #~15
    mov sp, x9
    mov x0, x2
    blr x1
    mov sp, x29
    .cfi_def_cfa sp, 16
    ldp x29, x30, [sp], #16
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size spn_run_on_stack, .-spn_run_on_stack
#endif
    .section .note.GNU-stack,"",%progbits
