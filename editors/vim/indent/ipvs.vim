" Vim indent file: ipvsc configuration files (*.ipvs). One level per open `{`; a line that
" starts with `}` closes its level; a line continued with `\` indents what follows once.
if exists('b:did_indent')
  finish
endif
let b:did_indent = 1

setlocal indentexpr=GetIpvsIndent(v:lnum)
setlocal indentkeys=0{,0},0#,!^F,o,O
setlocal autoindent nolisp nosmartindent nocindent
let b:undo_indent = 'setlocal indentexpr< indentkeys< autoindent< lisp< smartindent< cindent<'

if exists('*GetIpvsIndent')
  finish
endif

" A line without its strings and comment.
function! s:Code(lnum) abort
  let line = substitute(getline(a:lnum), '"[^"]*"', '""', 'g')
  return substitute(line, '#.*$', '', '')
endfunction

function! s:Continued(lnum) abort
  return a:lnum > 0 && s:Code(a:lnum) =~# '\\\s*$'
endfunction

function! GetIpvsIndent(lnum) abort
  let prev = prevnonblank(a:lnum - 1)
  if prev == 0
    return 0
  endif
  " The statement the previous line belongs to starts after the last line not continued.
  let start = prev
  while s:Continued(start - 1)
    let start -= 1
  endwhile
  let ind = indent(start)
  let code = ''
  for l in range(start, prev)
    let code .= s:Code(l)
  endfor
  let opened = len(substitute(code, '[^{]', '', 'g')) - len(substitute(code, '[^}]', '', 'g'))
  " A leading `}` already took its level off the statement's own line.
  if code =~# '^\s*}'
    let opened += 1
  endif
  let ind += opened * shiftwidth()
  if s:Continued(prev)
    let ind = indent(start) + shiftwidth()
  endif
  if s:Code(a:lnum) =~# '^\s*}'
    let ind -= shiftwidth()
  endif
  return max([ind, 0])
endfunction
