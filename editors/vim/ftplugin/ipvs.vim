" Vim filetype plugin: ipvsc configuration files (*.ipvs).
if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

setlocal comments=:# commentstring=#\ %s
setlocal formatoptions-=t formatoptions+=croql
setlocal expandtab shiftwidth=4 softtabstop=4
" :make checks the file with `ipvsc check` and fills the quickfix list.
compiler ipvsc

let b:undo_ftplugin = 'setlocal comments< commentstring< formatoptions< expandtab< shiftwidth<'
      \ . ' softtabstop< makeprg< errorformat<'
