" The Vim plugin, run headless by editors/test.sh:
"   vim -N -u NONE -i NONE -n -es -S editors/vim/test/run.vim
" Checks filetype detection, the highlight group at known places, indentation, and that :make
" (ipvsc check --format short, which must be on PATH) fills the quickfix list. Exits 1 on any
" failure, after printing each one.
set nocompatible
let s:test = expand('<sfile>:p:h')
let &runtimepath = fnamemodify(s:test, ':h') . ',' . &runtimepath
filetype plugin indent on
syntax on

let s:failures = []
let s:passed = 0

function! s:Expect(what, got, want) abort
  if a:got ==# a:want
    let s:passed += 1
  else
    call add(s:failures, a:what . ': got ' . string(a:got) . ', want ' . string(a:want))
  endif
endfunction

" The syntax group, and the highlight group it finally shows as (Number and String show as
" Constant, Keyword as Statement), at the first match of `pattern` (searched from line
" `from`), `offset` characters into it.
function! s:Group(pattern, from, offset) abort
  call cursor(a:from, 1)
  let [lnum, col] = searchpos(a:pattern, 'cW')
  if lnum == 0
    return ['not found: ' . a:pattern, '']
  endif
  let id = synID(lnum, col + a:offset, 1)
  return [synIDattr(id, 'name'), synIDattr(synIDtrans(id), 'name')]
endfunction

function! s:Highlights() abort
  execute 'edit ' . fnameescape(s:test . '/sample.ipvs')
  call s:Expect('filetype', &filetype, 'ipvs')
  call s:Expect('commentstring', &commentstring, '# %s')
  call s:Expect('makeprg', &makeprg, 'ipvsc check --format short -- %:S')
  " [pattern, line to search from, offset, syntax group, highlight group]
  let cases = [
        \ ['# A web', 1, 0, 'ipvsComment', 'Comment'],
        \ ['TODO', 1, 0, 'ipvsTodo', 'Todo'],
        \ ['\<define\>', 1, 0, 'ipvsStatement', 'Statement'],
        \ ['vip', 2, 0, 'ipvsDefineName', 'Identifier'],
        \ ['207\.', 2, 4, 'ipvsAddress', 'Constant'],
        \ ['"common', 3, 3, 'ipvsString', 'Constant'],
        \ ['\<timeouts\>', 4, 0, 'ipvsStatement', 'Statement'],
        \ ['\<tcp\>', 4, 0, 'ipvsProtocol', 'Type'],
        \ ['15m', 4, 1, 'ipvsNumber', 'Constant'],
        \ ['tcpfin', 4, 0, 'ipvsSetting', 'Identifier'],
        \ ['drop_entry', 5, 3, 'ipvsSysctl', 'Identifier'],
        \ ['\<auto\>', 5, 0, 'ipvsValue', 'Constant'],
        \ ['1024', 5, 0, 'ipvsNumber', 'Constant'],
        \ ['sync_threshold', 6, 0, 'ipvsSysctl', 'Identifier'],
        \ ['\<on\>', 6, 0, 'ipvsValue', 'Constant'],
        \ ['\<master\>', 7, 0, 'ipvsValue', 'Constant'],
        \ ['\<port\>', 7, 0, 'ipvsOption', 'Statement'],
        \ ['{', 7, 0, 'ipvsDelimiter', 'Special'],
        \ ['\$vip', 9, 0, 'ipvsVariable', 'PreProc'],
        \ [':80', 9, 1, 'ipvsNumber', 'Constant'],
        \ ['scheduler', 10, 0, 'ipvsOption', 'Statement'],
        \ ['\<sh\>', 10, 0, 'ipvsScheduler', 'Constant'],
        \ ['fallback', 10, 0, 'ipvsValue', 'Constant'],
        \ ['flag-3', 10, 5, 'ipvsValue', 'Constant'],
        \ ['persistent', 11, 0, 'ipvsOption', 'Statement'],
        \ ['30m', 11, 0, 'ipvsNumber', 'Constant'],
        \ ['netmask', 11, 0, 'ipvsOption', 'Statement'],
        \ ['255\.', 11, 8, 'ipvsAddress', 'Constant'],
        \ ['\<sip\>', 12, 0, 'ipvsValue', 'Constant'],
        \ ['one-packet', 12, 7, 'ipvsOption', 'Statement'],
        \ ['192\.168\.10\.5', 13, 2, 'ipvsAddress', 'Constant'],
        \ ['8080', 13, 0, 'ipvsNumber', 'Constant'],
        \ ['\<weight\>', 13, 0, 'ipvsOption', 'Statement'],
        \ ['server in', 13, 0, 'ipvsComment', 'Comment'],
        \ ['2001:db8::9', 14, 6, 'ipvsAddress', 'Constant'],
        \ ['\<tunnel\>', 14, 0, 'ipvsValue', 'Constant'],
        \ ['remcsum', 14, 0, 'ipvsValue', 'Constant'],
        \ ['\[2001', 15, 3, 'ipvsAddress', 'Constant'],
        \ ['\\$', 15, 0, 'ipvsContinuation', 'Special'],
        \ ['\<upper\>', 16, 0, 'ipvsOption', 'Statement'],
        \ ]
  for [pattern, from, offset, group, link] in cases
    call s:Expect('highlight of ' . pattern . ' (line ' . from . ')',
          \ s:Group(pattern, from, offset), [group, link])
  endfor
endfunction

function! s:Indentation() abort
  let expected = [
        \ '# indentation',
        \ 'service tcp 10.0.0.1:80 {',
        \ '    scheduler wlc   # {',
        \ '    server 10.0.0.2 weight 3 \',
        \ '        upper 100',
        \ '    server "}" 10.0.0.3',
        \ '}',
        \ 'service fwmark 1 { scheduler rr }',
        \ 'sync master {',
        \ '    interface eth0',
        \ '}',
        \ ]
  enew!
  setfiletype ipvs
  call setline(1, map(copy(expected), 'trim(v:val)'))
  normal! gg=G
  call s:Expect('indentation', getline(1, '$'), expected)
  bwipeout!
endfunction

function! s:Quickfix() abort
  let file = s:test . '/errors.ipvs'
  execute 'edit ' . fnameescape(file)
  silent make
  let found = map(filter(getqflist(), 'v:val.valid'),
        \ '[bufname(v:val.bufnr) ==# ' . string(file) . ' || fnamemodify(bufname(v:val.bufnr), ":p") ==# '
        \ . string(file) . ', v:val.lnum, v:val.col, v:val.type, v:val.text]')
  call s:Expect('quickfix', found, [
        \ [1, 4, 21, 'e', '[unknown-keyword]: unknown server option `wieght`'],
        \ [1, 5, 13, 'w', '[netmask-without-persistence]: a netmask without persistence has no effect'],
        \ [1, 7, 27, 'e', '[unknown-keyword]: unknown service statement `schedular`'],
        \ ])
endfunction

for s:Test in [function('s:Highlights'), function('s:Indentation'), function('s:Quickfix')]
  try
    call s:Test()
  catch
    call add(s:failures, string(s:Test) . ': ' . v:exception . ' at ' . v:throwpoint)
  endtry
endfor

let s:report = map(copy(s:failures), '"FAIL " . v:val')
call add(s:report, 'vim: ' . s:passed . ' passed, ' . len(s:failures) . ' failed')
" In silent Ex mode, :print writes to standard output.
enew!
call setline(1, s:report)
%print
if empty(s:failures)
  qall!
endif
cquit!
