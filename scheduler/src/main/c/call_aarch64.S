/*
 * Typed calls, AArch64 (AAPCS64): intptr_t spn_call_task(struct spn_call *row)
 *
 * As call_x86_64.S: loads x0-x7 and d0-d7 from the row (spindle_sched.h draws it), calls
 * row->fn, and returns x0, or d0's bits when ret_kind is SPN_RET_FP. x19 (callee-saved)
 * keeps the row across the call.
 *
 *   row +0 fn | +8 ret_kind | +64 ints[0..7] | +128 fps[0..7]
 */
#include "spindle_sched.h"

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
    ldr w9, [x19, #8]
    cmp w9, #SPN_RET_FP
    b.ne 1f
    fmov x0, d0
1:  ldr x19, [sp, #16]
    ldp x29, x30, [sp], #32
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size spn_call_task, .-spn_call_task

/*
 * Typed call batches, AArch64:
 *   int64_t spn_call_rows(struct spn_group *g, int64_t first, int64_t end,
 *                         const struct spn_sched *s, int64_t may_split, int64_t *running_row)
 *
 * As in call_x86_64.S: per row, its index to *running_row, x0-x7 from the row's start and d0-d7 from row + row_fps, a
 * call of g->call_fn, x0 or d0 stored at row + row_ret as ret_kind says. Returns the first
 * row not run: end, or earlier once s->shutdown is SPN_SHUTDOWN_CANCEL (before a row) or, with
 * may_split, when a worker is parked and none looks for work while two rows or more are left
 * (after a row). Callee-saved across the calls: x19 g, x20 the row index, x21 end, x22 s,
 * x23 the stride, x24 the row, x25 may_split, x26 running_row.
 */
    .globl spn_call_rows
    .type spn_call_rows, %function
    .align 4
spn_call_rows:
    .cfi_startproc
    stp x29, x30, [sp, #-80]!
    .cfi_def_cfa_offset 80
    .cfi_offset x29, -80
    .cfi_offset x30, -72
    mov x29, sp
    stp x19, x20, [sp, #16]
    .cfi_offset x19, -64
    .cfi_offset x20, -56
    stp x21, x22, [sp, #32]
    .cfi_offset x21, -48
    .cfi_offset x22, -40
    stp x23, x24, [sp, #48]
    .cfi_offset x23, -32
    .cfi_offset x24, -24
    stp x25, x26, [sp, #64]
    .cfi_offset x25, -16
    .cfi_offset x26, -8
    mov x19, x0
    mov x20, x1
    mov x21, x2
    mov x22, x3
    mov x25, x4
    mov x26, x5
    ldrsw x23, [x19, #SPN_GROUP_ROW_STRIDE]
    mul x24, x23, x20
    add x24, x24, x19
    add x24, x24, #SPN_GROUP_ROWS
1:  cmp x20, x21
    b.ge 4f
    ldr w9, [x22, #SPN_SCHED_SHUTDOWN_OFFSET]
    cmp w9, #SPN_SHUTDOWN_CANCEL
    b.eq 4f
    str x20, [x26]
    ldrh w9, [x19, #SPN_GROUP_ROW_FPS]
    add x9, x24, x9
    ldp d0, d1, [x9]
    ldp d2, d3, [x9, #16]
    ldp d4, d5, [x9, #32]
    ldp d6, d7, [x9, #48]
    ldp x0, x1, [x24]
    ldp x2, x3, [x24, #16]
    ldp x4, x5, [x24, #32]
    ldp x6, x7, [x24, #48]
    ldr x16, [x19, #SPN_GROUP_CALL_FN]
    blr x16
    ldr w9, [x19, #SPN_GROUP_RET_KIND]
    ldrh w10, [x19, #SPN_GROUP_ROW_RET]
    cmp w9, #SPN_RET_INT
    b.ne 2f
    str x0, [x24, x10]
    b 3f
2:  cmp w9, #SPN_RET_FP
    b.ne 3f
    str d0, [x24, x10]
3:  add x24, x24, x23
    add x20, x20, #1
    cbz x25, 1b
    ldr w9, [x22, #SPN_SCHED_NSPINNING_OFFSET]
    cbnz w9, 1b
    ldr w9, [x22, #SPN_SCHED_NPARKED_OFFSET]
    cbz w9, 1b
    sub x9, x21, x20
    cmp x9, #2
    b.lt 1b
4:  mov x0, x20
    ldp x25, x26, [sp, #64]
    ldp x23, x24, [sp, #48]
    ldp x21, x22, [sp, #32]
    ldp x19, x20, [sp, #16]
    ldp x29, x30, [sp], #80
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size spn_call_rows, .-spn_call_rows
#endif
    .section .note.GNU-stack,"",@progbits
