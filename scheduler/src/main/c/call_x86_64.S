/*
 * Typed calls, x86-64 System V: intptr_t spn_call_task(struct spn_call *row)
 *
 * A task like any other (Spindle.call spawns it with its descriptor's row as its argument):
 * it loads the six integer argument registers and the eight vector ones from the row
 * (spindle_sched.h draws it), calls row->fn, and returns rax, or xmm0's bits when ret_kind is
 * SPN_RET_FP, as the task's result. Loading registers the callee does not use is harmless:
 * the ABI leaves them undefined for it. al = 8 is the upper bound a variadic callee may be
 * told for the vector registers in use.
 *
 *   row +0 fn | +8 ret_kind | +64 ints[0..5] | +128 fps[0..7]
 *
 * rbx (callee-saved) keeps the row across the call; its push also aligns the stack to 16.
 */
#include "spindle_sched.h"

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
    cmpl $SPN_RET_FP, 8(%rbx)
    jne 1f
    movq %xmm0, %rax
1:  popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    ret
    .cfi_endproc
    .size spn_call_task, .-spn_call_task

/*
 * Typed call batches, x86-64 System V:
 *   int64_t spn_call_rows(struct spn_group *g, int64_t first, int64_t end,
 *                         const struct spn_sched *s, int64_t may_split, int64_t *running_row)
 *
 * Runs rows first..end-1 of a callAll batch back to back (spindle_sched.h draws a row): for
 * each, writes its index to *running_row (for a pthread_exit from the call: green.c), loads the integer argument registers the signature uses from the row's start and
 * the vector ones from row + row_fps, calls g->call_fn, and stores the register ret_kind
 * names at row + row_ret. Only the registers in use are loaded: the loop jumps into a run
 * of loads at the entry for their count (two jumps a row, the same each time, so predicted),
 * which costs less than loading all fourteen. Returns the first row it did not run: end; or
 * earlier, before a row once s->shutdown is SPN_SHUTDOWN_CANCEL, or (may_split) after a row
 * when a worker is parked and none is looking for work while two rows or more are left, so
 * that the caller can hand half of them on (green.c, run_call_rows).
 *
 * Callee-saved across the calls: rbx g, rbp the stride, r12 the row index, r13 end, r14 s,
 * r15 the row. On the stack: may_split, the entry for the integer loads, the one for the
 * vector loads, running_row (40 bytes, which with the six pushes keep the stack 16-byte
 * aligned).
 */
    .globl spn_call_rows
    .type spn_call_rows, @function
    .align 16
spn_call_rows:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbx, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r12, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r13, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r14, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r15, 0
    subq $40, %rsp
    .cfi_adjust_cfa_offset 40
    movq %r8, (%rsp)
    movq %r9, 24(%rsp)
    movq %rdi, %rbx
    movq %rsi, %r12
    movq %rdx, %r13
    movq %rcx, %r14
    /* The entries: integer arguments = row_fps / 8, vector ones = (row_ret - row_fps) / 8. */
    movzwl SPN_GROUP_ROW_FPS(%rbx), %eax
    shrl $3, %eax
    leaq .Lint_entries(%rip), %rdx
    movslq (%rdx,%rax,4), %rcx
    addq %rdx, %rcx
    movq %rcx, 8(%rsp)
    movzwl SPN_GROUP_ROW_RET(%rbx), %ecx
    movzwl SPN_GROUP_ROW_FPS(%rbx), %eax
    subl %eax, %ecx
    shrl $3, %ecx
    leaq .Lfp_entries(%rip), %rdx
    movslq (%rdx,%rcx,4), %rax
    addq %rdx, %rax
    movq %rax, 16(%rsp)
    movslq SPN_GROUP_ROW_STRIDE(%rbx), %rbp
    movq %rbp, %r15
    imulq %r12, %r15
    leaq SPN_GROUP_ROWS(%rbx,%r15), %r15
1:  cmpq %r13, %r12
    jge 4f
    cmpl $SPN_SHUTDOWN_CANCEL, SPN_SCHED_SHUTDOWN_OFFSET(%r14)
    je 4f
    movq 24(%rsp), %rax
    movq %r12, (%rax)
    movzwl SPN_GROUP_ROW_FPS(%rbx), %eax
    addq %r15, %rax
    jmp *16(%rsp)
.Lfp8: movq 56(%rax), %xmm7
.Lfp7: movq 48(%rax), %xmm6
.Lfp6: movq 40(%rax), %xmm5
.Lfp5: movq 32(%rax), %xmm4
.Lfp4: movq 24(%rax), %xmm3
.Lfp3: movq 16(%rax), %xmm2
.Lfp2: movq 8(%rax), %xmm1
.Lfp1: movq 0(%rax), %xmm0
.Lfp0: jmp *8(%rsp)
.Lint6: movq 40(%r15), %r9
.Lint5: movq 32(%r15), %r8
.Lint4: movq 24(%r15), %rcx
.Lint3: movq 16(%r15), %rdx
.Lint2: movq 8(%r15), %rsi
.Lint1: movq 0(%r15), %rdi
.Lint0:
    movl $8, %eax
    call *SPN_GROUP_CALL_FN(%rbx)
    movl SPN_GROUP_RET_KIND(%rbx), %ecx
    movzwl SPN_GROUP_ROW_RET(%rbx), %edx
    cmpl $SPN_RET_INT, %ecx
    jne 2f
    movq %rax, (%r15,%rdx)
    jmp 3f
2:  cmpl $SPN_RET_FP, %ecx
    jne 3f
    movq %xmm0, (%r15,%rdx)
3:  addq %rbp, %r15
    incq %r12
    cmpq $0, (%rsp)
    je 1b
    cmpl $0, SPN_SCHED_NSPINNING_OFFSET(%r14)
    jne 1b
    cmpl $0, SPN_SCHED_NPARKED_OFFSET(%r14)
    je 1b
    movq %r13, %rax
    subq %r12, %rax
    cmpq $2, %rax
    jl 1b
4:  movq %r12, %rax
    addq $40, %rsp
    .cfi_adjust_cfa_offset -40
    popq %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore r15
    popq %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore r14
    popq %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore r13
    popq %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore r12
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    ret
    .cfi_endproc
    /* Entry k loads k registers (from the last one down), as offsets from its table. */
    .align 4
.Lint_entries:
    .long .Lint0-.Lint_entries, .Lint1-.Lint_entries, .Lint2-.Lint_entries, .Lint3-.Lint_entries
    .long .Lint4-.Lint_entries, .Lint5-.Lint_entries, .Lint6-.Lint_entries
.Lfp_entries:
    .long .Lfp0-.Lfp_entries, .Lfp1-.Lfp_entries, .Lfp2-.Lfp_entries, .Lfp3-.Lfp_entries
    .long .Lfp4-.Lfp_entries, .Lfp5-.Lfp_entries, .Lfp6-.Lfp_entries, .Lfp7-.Lfp_entries
    .long .Lfp8-.Lfp_entries
    .size spn_call_rows, .-spn_call_rows
#endif
    .section .note.GNU-stack,"",@progbits
