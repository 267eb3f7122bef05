" Vim compiler file: `ipvsc check --format short`, whose lines read
"   FILE:LINE:COL: error[CODE]: MESSAGE
" so that :make puts every error and warning of the file in the quickfix list.
if exists('current_compiler')
  finish
endif
let current_compiler = 'ipvsc'

if exists(':CompilerSet') != 2
  command -nargs=* CompilerSet setlocal <args>
endif

let s:cpo_save = &cpo
set cpo&vim

CompilerSet makeprg=ipvsc\ check\ --format\ short\ --\ %:S
" The code stays in the message: `[unknown-keyword]: unknown server option `wieght``.
CompilerSet errorformat=%f:%l:%c:\ %trror%m,%f:%l:%c:\ %tarning%m

let &cpo = s:cpo_save
unlet s:cpo_save
