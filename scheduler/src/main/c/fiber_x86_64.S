/*
 * The green-thread context switch, x86-64 System V.
 *
 *   void spn_ctx_switch(void **save_sp, void *load_sp)
 *
 * Saves what the ABI says a callee must preserve (rbx, rbp, r12-r15, the MXCSR control
 * bits and the x87 control word) on the current stack, stores the stack pointer in
 * *save_sp, loads load_sp and restores the same from there. Caller-saved registers are the
 * caller's business: the switch is an ordinary call to the compiler.
 *
 * A suspended stack, from load_sp upwards:
 *
 *      +-------------------------+  <- saved sp (16-byte aligned)
 *   0  | mxcsr (4) | x87 cw (2)  |
 *   8  | r15                     |
 *  16  | r14                     |
 *  24  | r13                     |
 *  32  | r12                     |
 *  40  | rbx                     |
 *  48  | rbp                     |
 *  56  | return address          |  <- `ret` resumes there
 *      +-------------------------+
 *
 * A new fiber's frame is built the same way by fiber.c with the return address set to
 * spn_fiber_trampoline and r12 holding the fiber; the trampoline calls
 * spn_fiber_main(fiber), which never returns (a fiber ends by switching away for good).
 */
#if defined(__x86_64__)
    .text
    .globl spn_ctx_switch
    .hidden spn_ctx_switch
    .type spn_ctx_switch, @function
    .align 16
spn_ctx_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size spn_ctx_switch, .-spn_ctx_switch

    .globl spn_fiber_trampoline
    .hidden spn_fiber_trampoline
    .type spn_fiber_trampoline, @function
    .align 16
spn_fiber_trampoline:
    .cfi_startproc
    .cfi_undefined rip          /* the bottom of a green thread's stack: unwinders stop here */
    movq %r12, %rdi
    call spn_fiber_main
    ud2                         /* spn_fiber_main never returns */
    .cfi_endproc
    .size spn_fiber_trampoline, .-spn_fiber_trampoline

/*
 *   void spn_call_on_stack(void *stack_top, void (*fn)(void *), void *arg)  (never returns)
 *
 * Calls fn(arg) with the stack pointer at stack_top (16-byte aligned): the stack overflow
 * report runs on the worker's signal stack, not on the green stack that just ran out.
 */
    .globl spn_call_on_stack
    .hidden spn_call_on_stack
    .type spn_call_on_stack, @function
    .align 16
spn_call_on_stack:
    .cfi_startproc
    movq %rdi, %rsp
    movq %rdx, %rdi
    call *%rsi
    ud2                         /* fn never returns */
    .cfi_endproc
    .size spn_call_on_stack, .-spn_call_on_stack

/*
 *   intptr_t spn_run_on_stack(void *stack_top, intptr_t (*fn)(void *), void *arg)
 *
 * Calls fn(arg) with the stack pointer at stack_top (aligned down to 16), and returns its
 * result on the caller's stack again: spn_call_on_worker_stack (green.c). rbp keeps the
 * caller's stack pointer, and frames the call for unwinders.
 */
    .globl spn_run_on_stack
    .hidden spn_run_on_stack
    .type spn_run_on_stack, @function
    .align 16
spn_run_on_stack:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    movq %rsp, %rbp
    .cfi_def_cfa_register rbp
    andq $-16, %rdi
    movq %rdi, %rsp
    movq %rdx, %rdi
    call *%rsi
    movq %rbp, %rsp
    .cfi_def_cfa_register rsp
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    ret
    .cfi_endproc
    .size spn_run_on_stack, .-spn_run_on_stack
#endif
    .section .note.GNU-stack,"",@progbits
