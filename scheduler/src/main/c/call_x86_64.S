/*
 * Typed calls, x86-64 System V: intptr_t spn_call_task(struct spn_call *row)
 *
 * A task like any other (Spindle.call spawns it with the row as its argument): it loads
 * the six integer argument registers and the eight vector ones from the row (spindle_sched.h
 * draws it), calls row->fn, and stores rax and xmm0 back. Loading registers the callee does
 * not use is harmless: the ABI leaves them undefined for it. al = 8 is the upper bound a
 * variadic callee may be told for the vector registers in use.
 *
 *   row +0 fn | +8 ret_int | +16 ret_fp | +64 ints[0..5] | +128 fps[0..7]
 *
 * rbx (callee-saved) keeps the row across the call; its push also aligns the stack to 16.
 */
#if defined(__x86_64__)
    .text
    .globl spn_call_task
    .type spn_call_task, @function
    .align 16
spn_call_task:
    .cfi_startproc
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbx, 0
    movq %rdi, %rbx
    movq 128(%rbx), %xmm0
    movq 136(%rbx), %xmm1
    movq 144(%rbx), %xmm2
    movq 152(%rbx), %xmm3
    movq 160(%rbx), %xmm4
    movq 168(%rbx), %xmm5
    movq 176(%rbx), %xmm6
    movq 184(%rbx), %xmm7
    movq 64(%rbx), %rdi
    movq 72(%rbx), %rsi
    movq 80(%rbx), %rdx
    movq 88(%rbx), %rcx
    movq 96(%rbx), %r8
    movq 104(%rbx), %r9
    movl $8, %eax
    call *(%rbx)
    movq %rax, 8(%rbx)
    movq %xmm0, 16(%rbx)
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    ret
    .cfi_endproc
    .size spn_call_task, .-spn_call_task
#endif
    .section .note.GNU-stack,"",@progbits
