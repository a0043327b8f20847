/*
 * Typed calls, AArch64 (AAPCS64): intptr_t spn_call_task(struct spn_call *row)
 *
 * As call_x86_64.S: loads x0-x7 and d0-d7 from the row (spindle_sched.h draws it), calls
 * row->fn, stores x0 and d0 back. x19 (callee-saved) keeps the row across the call.
 *
 *   row +0 fn | +8 ret_int | +16 ret_fp | +64 ints[0..7] | +128 fps[0..7]
 */
#if defined(__aarch64__)
    .text
    .globl spn_call_task
    .type spn_call_task, %function
    .align 4
spn_call_task:
    .cfi_startproc
    stp x29, x30, [sp, #-32]!
    .cfi_def_cfa_offset 32
    .cfi_offset x29, -32
    .cfi_offset x30, -24
    mov x29, sp
    str x19, [sp, #16]
    .cfi_offset x19, -16
    mov x19, x0
    ldp d0, d1, [x19, #128]
    ldp d2, d3, [x19, #144]
    ldp d4, d5, [x19, #160]
    ldp d6, d7, [x19, #176]
    ldp x0, x1, [x19, #64]
    ldp x2, x3, [x19, #80]
    ldp x4, x5, [x19, #96]
    ldp x6, x7, [x19, #112]
    ldr x16, [x19]
    blr x16
    str x0, [x19, #8]
    str d0, [x19, #16]
    ldr x19, [sp, #16]
    ldp x29, x30, [sp], #32
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size spn_call_task, .-spn_call_task
#endif
    .section .note.GNU-stack,"",@progbits
