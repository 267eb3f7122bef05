-- Neovim as a client of `ipvsc lsp`, run headless by editors/test.sh:
--   IPVSC=target/debug/ipvsc OUT=result.txt nvim --headless --clean -n -c 'luafile editors/vim/test/lsp.lua'
-- Opens errors.ipvs through the plugin (ftdetect, then lua/ipvsc.lua), waits for the server's
-- diagnostics, and writes them to $OUT as LINE:COL:SEVERITY:CODE:MESSAGE (first line), sorted;
-- the script compares them with lsp.expected.
local test = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local plugin = vim.fn.fnamemodify(test, ':h')
local out = assert(os.getenv('OUT'), 'set OUT to the result file')

local ok, err = pcall(function()
  vim.opt.runtimepath:prepend(plugin)
  -- Detection was switched on before the plugin was on 'runtimepath': load it again.
  vim.cmd('filetype off')
  vim.cmd('filetype plugin indent on')
  require('ipvsc').setup({ cmd = { os.getenv('IPVSC') or 'ipvsc', 'lsp' } })
  vim.cmd('edit ' .. vim.fn.fnameescape(test .. '/errors.ipvs'))
  local buf = vim.api.nvim_get_current_buf()
  assert(vim.bo[buf].filetype == 'ipvs', 'filetype is ' .. vim.bo[buf].filetype)
  local arrived = vim.wait(20000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 50)
  assert(arrived, 'no diagnostics from ipvsc lsp within 20 s')
  local lines = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    local code = d.code or lsp.code
    local message = d.message:gsub('\n.*', '')
    table.insert(lines, string.format('%d:%d:%d:%s:%s', d.lnum + 1, d.col + 1, d.severity,
      tostring(code), message))
  end
  table.sort(lines)
  vim.fn.writefile(lines, out)
end)

if not ok then
  vim.fn.writefile({ 'error: ' .. tostring(err) }, out)
  vim.cmd('cquit 1')
end
vim.cmd('qall!')
