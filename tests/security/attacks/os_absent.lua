function price(ctx)
os.execute('touch /tmp/dealdesk-pwned')
end
